"""CSV cells a spreadsheet shows as text instead of running.

Excel, LibreOffice and Google Sheets treat a cell that starts with =, +, -, @,
a tab or a carriage return as a formula, and a formula can fetch URLs or run
commands (CSV injection). As OWASP advises, we put a single quote before such
a cell: spreadsheets show the text as written. Quotes in the text are already
escaped by the csv module. Only strings are touched; numbers stay numbers.
"""
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def defuse(value):
    """value, with a ' before it when a spreadsheet would read it as a formula."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def defuse_row(row):
    """A copy of a dict row with every cell defused."""
    return {key: defuse(value) for key, value in row.items()}
