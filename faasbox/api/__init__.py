"""The OpenFaaS /system API: one module per resource, plus auth and error rendering."""
