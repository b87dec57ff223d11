# Least privilege: named verbs on named resource types, in the one compartment, object access
# scoped to the datasets bucket. Dynamic groups live in the tenancy; policies in the compartment.
# Resource principal tokens are cached 15 minutes, so IAM changes take up to that long to apply.

locals {
  functions_dynamic_group = "${var.name_prefix}-functions"
  schedule_dynamic_group  = "${var.name_prefix}-schedule"
  compartment             = "compartment id ${var.compartment_ocid}"
  bucket_condition        = "where target.bucket.name = '${var.bucket_name}'"

  function_statements = concat(
    [
      # Datasets, reports and the run-state store (conditional writes, delete-on-failure).
      "Allow dynamic-group ${local.functions_dynamic_group} to read buckets in ${local.compartment} ${local.bucket_condition}",
      "Allow dynamic-group ${local.functions_dynamic_group} to manage objects in ${local.compartment} ${local.bucket_condition}",
      # Generative AI: createModel on a fine-tuning cluster, createEndpoint, updateDedicatedAiCluster
      # (update is the `use` verb), and the work requests those return.
      "Allow dynamic-group ${local.functions_dynamic_group} to use generative-ai-dedicated-ai-cluster in ${local.compartment}",
      "Allow dynamic-group ${local.functions_dynamic_group} to manage generative-ai-model in ${local.compartment}",
      "Allow dynamic-group ${local.functions_dynamic_group} to manage generative-ai-endpoint in ${local.compartment}",
      "Allow dynamic-group ${local.functions_dynamic_group} to read generative-ai-work-request in ${local.compartment}",
      # Notifications: publish to the pipeline topic.
      "Allow dynamic-group ${local.functions_dynamic_group} to use ons-topics in ${local.compartment}",
      # Monitoring: read cluster metrics; publish only dacflow's own custom namespace.
      "Allow dynamic-group ${local.functions_dynamic_group} to read metrics in ${local.compartment}",
      "Allow dynamic-group ${local.functions_dynamic_group} to use metrics in ${local.compartment} where target.metrics.namespace = '${var.utilization_metric_namespace}'",
    ],
    var.enable_datascience ? [
      # The Data Science backend (datascience.tf): AI Quick Actions style, the workflow's job
      # (oci-facts H), its runs, the model catalog entries and the model deployments, created in
      # the project (`use`); the output bucket's versioning is checked before a run starts.
      "Allow dynamic-group ${local.functions_dynamic_group} to use data-science-projects in ${local.compartment}",
      "Allow dynamic-group ${local.functions_dynamic_group} to manage data-science-jobs in ${local.compartment}",
      "Allow dynamic-group ${local.functions_dynamic_group} to manage data-science-job-runs in ${local.compartment}",
      "Allow dynamic-group ${local.functions_dynamic_group} to manage data-science-models in ${local.compartment}",
      "Allow dynamic-group ${local.functions_dynamic_group} to manage data-science-model-deployments in ${local.compartment}",
      "Allow dynamic-group ${local.functions_dynamic_group} to read buckets in ${local.compartment} ${local.output_bucket_condition}",
    ] : [],
    # A job on a customer subnet (datascience.subnetId) or with logging (datascience.logGroupId):
    # the job's creator needs the network and log group (AQUA's policies grant these families).
    var.enable_datascience && local.datascience_subnet ? [
      "Allow dynamic-group ${local.functions_dynamic_group} to use virtual-network-family in ${local.compartment}",
    ] : [],
    var.enable_datascience && local.datascience_logging ? [
      "Allow dynamic-group ${local.functions_dynamic_group} to use logging-family in ${local.compartment}",
    ] : [],
  )
}

resource "oci_identity_dynamic_group" "functions" {
  compartment_id = var.tenancy_ocid
  name           = local.functions_dynamic_group
  description    = "dacflow functions (resource principals)"
  matching_rule  = "ANY {${join(", ", [for f in oci_functions_function.this : "resource.id = '${f.id}'"])}}"

  freeform_tags = local.freeform_tags
}

resource "oci_identity_policy" "functions" {
  compartment_id = var.compartment_ocid
  name           = "${var.name_prefix}-functions"
  description    = "dacflow functions: datasets bucket, Generative AI, Data Science, Notifications, Monitoring"
  statements     = local.function_statements

  freeform_tags = local.freeform_tags

  depends_on = [oci_identity_dynamic_group.functions]

  lifecycle {
    precondition {
      condition     = var.enable_datascience || length(local.datascience_workflows) == 0
      error_message = "A workflow file uses backend: datascience; set enable_datascience = true so its bucket, groups and policies exist."
    }
  }
}

resource "oci_identity_dynamic_group" "schedule" {
  compartment_id = var.tenancy_ocid
  name           = local.schedule_dynamic_group
  description    = "dacflow reconcile schedule (Resource Scheduler)"
  matching_rule  = "ALL {resource.type = 'resourceschedule', resource.id = '${oci_resource_scheduler_schedule.poll_status.id}'}"

  freeform_tags = local.freeform_tags
}

resource "oci_identity_policy" "schedule" {
  compartment_id = var.compartment_ocid
  name           = "${var.name_prefix}-schedule"
  description    = "dacflow reconcile schedule: invoke poll-status"
  # Functions supports only the general policy variables, so invocation cannot be narrowed to one
  # function id (functionspolicyreference.htm); the dynamic group matches this schedule alone.
  statements = [
    "Allow dynamic-group ${local.schedule_dynamic_group} to read fn-function in ${local.compartment}",
    "Allow dynamic-group ${local.schedule_dynamic_group} to use fn-invocation in ${local.compartment}",
  ]

  freeform_tags = local.freeform_tags

  depends_on = [oci_identity_dynamic_group.schedule]
}
