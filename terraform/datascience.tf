# The Data Science backend (`backend: datascience`, AI Quick Actions style), all behind
# var.enable_datascience: the versioned output bucket AQUA writes fine-tuned models to, a project
# (or an existing one), and the dynamic groups and policy of the job runs and model deployments,
# which act with their own resource principals (ai-quick-actions/policies in
# oracle-samples/oci-data-science-ai-samples). The functions' Data Science grants are in iam.tf.

locals {
  # The workflow files that use this backend; their settings must agree with this module's.
  datascience_workflows = [for w in local.workflow_documents : w if try(w.backend, "genai") == "datascience"]
  # Logging and customer networking are per workflow (datascience.logGroupId / subnetId).
  datascience_logging = anytrue([for w in local.datascience_workflows : try(w.datascience.logGroupId, null) != null])
  datascience_subnet  = anytrue([for w in local.datascience_workflows : try(w.datascience.subnetId, null) != null])

  datascience_project_id = var.datascience_project_id != null ? var.datascience_project_id : one(oci_datascience_project.this[*].id)

  job_runs_dynamic_group          = "${var.name_prefix}-ds-job-runs"
  model_deployments_dynamic_group = "${var.name_prefix}-ds-model-deployments"
  output_bucket_condition         = "where target.bucket.name = '${var.datascience_output_bucket_name}'"

  datascience_statements = concat(
    [
      # Job runs (AQUA's fine-tuning container): read the dataset, write the fine-tuned model to the
      # output bucket and into its catalog entry (AQUA's distributed-training policy grants
      # `manage data-science-models` and `read data-science-jobs` to job runs).
      "Allow dynamic-group ${local.job_runs_dynamic_group} to read buckets in ${local.compartment} ${local.bucket_condition}",
      "Allow dynamic-group ${local.job_runs_dynamic_group} to read objects in ${local.compartment} ${local.bucket_condition}",
      "Allow dynamic-group ${local.job_runs_dynamic_group} to read buckets in ${local.compartment} ${local.output_bucket_condition}",
      "Allow dynamic-group ${local.job_runs_dynamic_group} to manage objects in ${local.compartment} ${local.output_bucket_condition}",
      "Allow dynamic-group ${local.job_runs_dynamic_group} to read data-science-jobs in ${local.compartment}",
      "Allow dynamic-group ${local.job_runs_dynamic_group} to manage data-science-models in ${local.compartment}",
      # Model deployments: read the fine-tuned model, whose artifact is the output bucket's objects.
      "Allow dynamic-group ${local.model_deployments_dynamic_group} to read data-science-models in ${local.compartment}",
      "Allow dynamic-group ${local.model_deployments_dynamic_group} to read buckets in ${local.compartment} ${local.output_bucket_condition}",
      "Allow dynamic-group ${local.model_deployments_dynamic_group} to read objects in ${local.compartment} ${local.output_bucket_condition}",
    ],
    local.datascience_logging ? [
      # A workflow with datascience.logGroupId: the job runs write their logs there.
      "Allow dynamic-group ${local.job_runs_dynamic_group} to use log-content in ${local.compartment}",
    ] : [],
  )
}

resource "oci_objectstorage_bucket" "aqua_output" {
  count = var.enable_datascience ? 1 : 0

  compartment_id = var.compartment_ocid
  namespace      = local.namespace
  name           = var.datascience_output_bucket_name
  access_type    = "NoPublicAccess"
  storage_tier   = "Standard"
  # AQUA saves fine-tuned models only to a bucket with versioning on (fine-tuning-tips.md,
  # oci-facts H); start-finetune refuses a run otherwise (OUTPUT_BUCKET_NOT_VERSIONED).
  versioning = "Enabled"

  freeform_tags = local.freeform_tags

  lifecycle {
    precondition {
      condition     = var.datascience_output_bucket_name != var.bucket_name
      error_message = "datascience_output_bucket_name must differ from bucket_name: job runs may write to the output bucket, never to the datasets bucket."
    }
    precondition {
      condition     = alltrue([for w in local.datascience_workflows : try(w.datascience.outputBucket, null) == var.datascience_output_bucket_name])
      error_message = "Every datascience workflow's datascience.outputBucket must be datascience_output_bucket_name (${var.datascience_output_bucket_name}): the policies grant access to that bucket only."
    }
    precondition {
      condition     = alltrue([for w in local.datascience_workflows : try(w.datascience.compartmentId, var.compartment_ocid) == var.compartment_ocid])
      error_message = "A datascience workflow's datascience.compartmentId, when set, must be compartment_ocid: the policies are granted in that compartment only."
    }
    precondition {
      condition     = var.datascience_project_id == null || alltrue([for w in local.datascience_workflows : try(w.datascience.projectId, null) == var.datascience_project_id])
      error_message = "Every datascience workflow's datascience.projectId must be datascience_project_id."
    }
  }
}

resource "oci_datascience_project" "this" {
  count = var.enable_datascience && var.datascience_project_id == null ? 1 : 0

  compartment_id = var.compartment_ocid
  display_name   = var.name_prefix
  description    = "dacflow: fine-tuning jobs, fine-tuned models and their deployments"

  freeform_tags = local.freeform_tags
}

# Job runs and model deployments cannot be named in advance: the groups match every one in the
# compartment (freeform tags cannot be matched by dynamic group rules).
resource "oci_identity_dynamic_group" "datascience_job_runs" {
  count = var.enable_datascience ? 1 : 0

  compartment_id = var.tenancy_ocid
  name           = local.job_runs_dynamic_group
  description    = "dacflow Data Science job runs (AQUA fine-tuning) in the compartment"
  matching_rule  = "ALL {resource.type = 'datasciencejobrun', resource.compartment.id = '${var.compartment_ocid}'}"

  freeform_tags = local.freeform_tags
}

resource "oci_identity_dynamic_group" "datascience_model_deployments" {
  count = var.enable_datascience ? 1 : 0

  compartment_id = var.tenancy_ocid
  name           = local.model_deployments_dynamic_group
  description    = "dacflow Data Science model deployments in the compartment"
  matching_rule  = "ALL {resource.type = 'datasciencemodeldeployment', resource.compartment.id = '${var.compartment_ocid}'}"

  freeform_tags = local.freeform_tags
}

resource "oci_identity_policy" "datascience" {
  count = var.enable_datascience ? 1 : 0

  compartment_id = var.compartment_ocid
  name           = "${var.name_prefix}-datascience"
  description    = "dacflow Data Science job runs and model deployments: datasets and output buckets, models, logs"
  statements     = local.datascience_statements

  freeform_tags = local.freeform_tags

  depends_on = [oci_identity_dynamic_group.datascience_job_runs, oci_identity_dynamic_group.datascience_model_deployments]
}
