"""Words and files: the translation catalogue, exports and the monthly report workbook."""
