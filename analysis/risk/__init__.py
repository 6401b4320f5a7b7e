"""The lapse-risk model.

``rows`` (leakage-safe training rows, feature choices), ``model`` (LightGBM, the pipeline),
``explain`` (SHAP), ``actions`` (action lists as codes) and ``words`` (their words, the workbook).
"""
