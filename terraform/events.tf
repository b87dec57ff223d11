# The Events rules of wiringFor() in shared/wiring.ts. Display names are wiringFor()'s, without
# name_prefix: `dacflow doctor` finds the rules by them.

# One rule per workflow: object created or updated under the workflow's prefix -> validate-dataset.
# The condition is datasetCondition(), field for field.
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

# The Data Science backend's rule: job-run and model-deployment events -> poll-status, which
# observes that one run at once instead of at its next scheduled poll. The condition is
# dataScienceEventsRule of shared/wiring.ts: the event types alone, since a rule sees only its
# compartment and the workflows' datascience.compartmentId must be compartment_ocid. Only with
# enable_datascience and a `backend: datascience` workflow, as wiringFor() adds it.
resource "oci_events_rule" "datascience" {
  count = var.enable_datascience && length(local.datascience_workflows) > 0 ? 1 : 0

  compartment_id = var.compartment_ocid
  display_name   = "dacflow-datascience-events"
  description    = "dacflow: Data Science job-run and model-deployment changes -> poll-status"
  is_enabled     = true

  # dataScienceEventTypes (data-science/using/create-auto-events.htm).
  condition = jsonencode({
    eventType = [
      "com.oraclecloud.datascience.createjobrun.end",
      "com.oraclecloud.datascience.canceljobrun.end",
      "com.oraclecloud.datascience.updatejobrun",
      "com.oraclecloud.datascience.createmodeldeployment.end",
    ]
  })

  actions {
    actions {
      action_type = "FAAS"
      function_id = oci_functions_function.this["poll-status"].id
      is_enabled  = true
    }
  }

  freeform_tags = local.freeform_tags
}
