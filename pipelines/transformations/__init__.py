"""Named transformation steps, applied batch by batch in configuration order (see base.py for the contract)."""

from pipelines.transformations import (  # noqa: F401  (importing a step module registers it)
    cast,
    clean_duplicates,
    derive,
    drop_columns,
    enrich_product_data,
    fill_nulls,
    filter_rows,
    rename,
    trim,
    validate_amounts,
)
from pipelines.transformations.base import (
    REGISTRY,
    LineageEdge,
    Param,
    Step,
    StepCall,
    StepError,
    TransformContext,
    apply_steps,
    describe_registry,
    get_step,
    register,
    resolve_steps,
    steps_errors,
    validate_params,
)

__all__ = ["REGISTRY", "LineageEdge", "Param", "Step", "StepCall", "StepError", "TransformContext", "apply_steps",
           "describe_registry", "get_step", "register", "resolve_steps", "steps_errors", "validate_params"]
