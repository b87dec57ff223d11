# One Events rule per workflow: object created or updated under the workflow's prefix ->
# validate-dataset. The condition is datasetCondition() of shared/wiring.ts, field for field.

resource "oci_events_rule" "dataset" {
  for_each = local.workflows

  compartment_id = var.compartment_ocid
  display_name   = "dacflow-${each.key}-dataset"
  description    = "dacflow: validate ${each.value.prefix}*${local.dataset_suffix} in ${each.value.bucket}"
  is_enabled     = true

  # Arrays are OR, `*` matches within a value, unmentioned fields match anything (filterevents.htm).
  condition = jsonencode({
    eventType = local.dataset_event_types
    data = {
      additionalDetails = { bucketName = each.value.bucket }
      resourceName      = "${each.value.prefix}*${local.dataset_suffix}"
    }
  })

  actions {
    actions {
      action_type = "FAAS"
      function_id = oci_functions_function.this["validate-dataset"].id
      is_enabled  = true
    }
  }

  freeform_tags = local.freeform_tags

  lifecycle {
    precondition {
      condition     = each.value.bucket == oci_objectstorage_bucket.this.name
      error_message = "Workflow ${each.key} triggers on bucket ${each.value.bucket}, but this module's datasets bucket is ${var.bucket_name}."
    }
    precondition {
      condition     = alltrue([for p in local.reserved_prefixes : !startswith(each.value.prefix, p) && !startswith(p, each.value.prefix)])
      error_message = "Workflow ${each.key}'s prefix overlaps dacflow's own prefixes (dacflow/reports/, dacflow/state/)."
    }
  }
}
