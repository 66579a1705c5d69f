"""The alert lifecycle API under /api/v1/ (routes in ``alerts/urls.py``): one thin view per
operation, grouped by concept. Views validate input, fetch-and-authorize through
``alerts.selectors``, call one service and serialize the result."""
