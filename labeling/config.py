"""The Label Studio labeling config for a classification task (one header and text per shown column, and
the class choices) or a regression task (the same, and a Number input for the true value). Column names and class names are escaped; data keys are generated (c0, c1, ...), so
any column name works."""

from __future__ import annotations

from xml.sax.saxutils import quoteattr

CHOICES_NAME = "label"


def data_keys(columns: list[str]) -> dict[str, str]:
    """Column name -> the key it gets in a task's data (Label Studio variables must be plain identifiers)."""
    return {c: f"c{i}" for i, c in enumerate(columns)}


def _shown(columns: list[str]) -> tuple[str, str]:
    """The shown columns as label-and-text rows, and the data key of the first (what the answer refers to)."""
    keys = data_keys(columns)
    rows = "\n".join(
        f'    <View style="display: flex; gap: 1em"><Header value={quoteattr(c + ":")} size="6"/>'
        f'<Text name="{keys[c]}" value="${keys[c]}"/></View>' for c in columns)
    return rows, keys[columns[0]]


def label_config(classes: list[str], columns: list[str]) -> str:
    if not classes:
        raise ValueError("a labeling config needs at least one class")
    if not columns:
        raise ValueError("a labeling config needs at least one column to show")
    rows, first = _shown(columns)
    choices = "\n".join(f"    <Choice value={quoteattr(c)}/>" for c in classes)
    return (f"<View>\n  <View>\n{rows}\n  </View>\n"
            f'  <Choices name="{CHOICES_NAME}" toName="{first}" choice="single" showInLine="true" required="true">\n'
            f"{choices}\n  </Choices>\n</View>\n")


def number_config(columns: list[str]) -> str:
    """A regression task: the annotator types the true value (Label Studio's Number tag, any decimal)."""
    if not columns:
        raise ValueError("a labeling config needs at least one column to show")
    rows, first = _shown(columns)
    return (f"<View>\n  <View>\n{rows}\n  </View>\n  <Header value=\"True value:\" size=\"5\"/>\n"
            f'  <Number name="{CHOICES_NAME}" toName="{first}" step="any" required="true"/>\n</View>\n')
