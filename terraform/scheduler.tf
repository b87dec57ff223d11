# The reconcile pass: Resource Scheduler starts poll-status on a cron (always a detached
# invocation, functionsscheduling.htm). The schedule needs its own dynamic group and policy.

resource "oci_resource_scheduler_schedule" "poll_status" {
  compartment_id     = var.compartment_ocid
  display_name       = "${var.name_prefix}-poll-status"
  description        = "dacflow: reconcile active runs"
  action             = "START_RESOURCE"
  recurrence_type    = "CRON"
  recurrence_details = var.poll_cron

  resources {
    id = oci_functions_function.this["poll-status"].id
  }

  freeform_tags = local.freeform_tags
}
