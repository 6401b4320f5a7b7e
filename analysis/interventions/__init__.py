"""Interventions: scenarios and their economics, campaign evaluation and study design."""
