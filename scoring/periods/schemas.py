import marshmallow as ma

from ..fields import Strict, Text


class CloseIn(Strict):
    reason = Text(2000, multiline=True, load_default=None)


class PeriodOut(ma.Schema):
    """Dumps a `PeriodView` (operations.period_views): everything in it is computed before."""

    key = ma.fields.String()
    status = ma.fields.String()
    closed_at = ma.fields.DateTime(allow_none=True)
    closed_at_local = ma.fields.String(allow_none=True, metadata={
        "description": "`closed_at` in the competition's time zone."})
    flag = ma.fields.Dict(allow_none=True, metadata={
        "description": "`{section, name}` of the red flag's holder, named as when the month was closed."})
    edition = ma.fields.Integer(metadata={
        "description": "How many times the month was closed: 1 the 通报, each later close a 更正; 0 never closed."})
    late_entries = ma.fields.Integer(metadata={
        "description": "Entries stored after the month was closed, waiting for a reopen to count."})
    approved_at = ma.fields.DateTime(allow_none=True, metadata={
        "description": "When the current edition's report was approved (POST …/reports/{key}/approve); null while "
                       "it awaits approval, while the month is open, and when the competition does not ask for "
                       "approval (`report_approval` false)."})
    approved_by = ma.fields.String(allow_none=True, metadata={
        "description": "Who approved it (username); null whenever `approved_at` is."})
    awaiting_approval = ma.fields.Boolean(metadata={
        "description": "true: the month is closed, the competition asks for approval and the current edition's "
                       "report is a draft not yet mailed, until an admin approves it. A reopen and close makes a "
                       "new edition that awaits its own approval."})
