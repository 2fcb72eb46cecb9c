"""data_catalog: sensitivity detected from the data, with its evidence and a person's decision.

* ``sensitivity_state`` — none | suggested | confirmed | rejected. Detection only ever *suggests*; a person
  confirms or rejects. ``sensitivity_level`` (from the specification) stays the people's field.
* ``sensitivity_evidence`` — JSON text: kind, pattern, share of sampled values matching, sample size; what
  the suggestion rests on, so a reviewer can judge it.
* ``column_fingerprint`` — a digest of the column's definition (type, nullability). A confirmed or rejected
  decision holds only while the column is unchanged; when the fingerprint changes it is re-evaluated.

Columns are added after ``sensitivity_level`` so the related fields read together; ``IF NOT EXISTS`` keeps
each statement safe to run again.
"""

description = "data_catalog: sensitivity_state, sensitivity_evidence, column_fingerprint"

operations = [
    """
    ALTER TABLE data_catalog
        ADD COLUMN IF NOT EXISTS sensitivity_state LowCardinality(String) DEFAULT 'none' AFTER sensitivity_level
    """,
    """
    ALTER TABLE data_catalog
        ADD COLUMN IF NOT EXISTS sensitivity_evidence String DEFAULT '{}' AFTER sensitivity_state
    """,
    """
    ALTER TABLE data_catalog
        ADD COLUMN IF NOT EXISTS column_fingerprint String DEFAULT '' AFTER sensitivity_evidence
    """,
]
