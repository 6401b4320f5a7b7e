"""The lapse-risk model: leakage-safe training rows, LightGBM, SHAP explanations and action lists."""
