"""Survival analysis: Kaplan–Meier curves, log-rank tests, Cox models and cumulative incidence."""
