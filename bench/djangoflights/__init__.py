"""A one-model Django app for the bulk_create contender (configured standalone; not part of the product)."""
