"""Interventions: retention scenarios and their economics, campaign evaluation and study design.

``scenario`` (a lever on a target, checked, JSON), ``baseline`` (the target's persistency),
``effects`` (the effect as a hazard ratio), ``economics`` (money for given hazard ratios),
``projection`` (the projection, its uncertainty, the one pipeline), ``arms`` (a campaign's
arms and start), ``campaign`` (its evaluation), ``uplift`` (who it helped), ``design``
(sample sizes).
"""
