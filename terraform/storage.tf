# The datasets bucket. Users upload `<workflow prefix>/<name>.jsonl`; dacflow writes its reports
# under `dacflow/reports/` and its run state under `dacflow/state/` (no Events rule matches those).

resource "oci_objectstorage_bucket" "this" {
  compartment_id = var.compartment_ocid
  namespace      = local.namespace
  name           = var.bucket_name
  access_type    = "NoPublicAccess"
  storage_tier   = "Standard"

  # Objects emit events only when the bucket has "Emit Object Events" on (eventsoverview.htm).
  object_events_enabled = true
  # Keeps overwritten datasets recoverable (a run belongs to one object version). AQUA's output
  # bucket, which must be versioned, is oci_objectstorage_bucket.aqua_output (datascience.tf).
  versioning = "Enabled"

  freeform_tags = local.freeform_tags
}
