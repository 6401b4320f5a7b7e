"""Experience studies: the calendar, exposures, rates with intervals, cohorts and the study request."""
