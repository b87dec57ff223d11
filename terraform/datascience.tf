# The Data Science backend (`backend: datascience`, AI Quick Actions style), all behind
# var.enable_datascience: the versioned output bucket AQUA writes fine-tuned models to, a project
# (or an existing one), and the dynamic groups and policy of the job runs and model deployments,
# which act with their own resource principals (ai-quick-actions/policies in
# oracle-samples/oci-data-science-ai-samples). The functions' Data Science grants are in iam.tf,
# the Events rule that sends job-run and model-deployment events to poll-status in events.tf.

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

# Scaling alarms of the model deployments of each datascience workflow with an autoscaling
# section: scale-dac resizes a deployment's FIXED_SIZE instance count on them with the workflow's
# policy. deploymentAlarmDefinitions() of shared/scaling/alarm-definitions.ts is THE definition;
# `npm run check:terraform` holds these alarms to it. Deployments are created at run time, so no
# alarm can name one: each rule is ONE alarm per workflow over every deployment in the
# compartment, grouped by resourceId and split per metric stream, so each deployment fires and
# clears on its own (scale-dac refuses a grouped message naming several: ALARM_TARGET_AMBIGUOUS).
# The body names the workflow; scale-dac resizes only deployments that workflow created. It reads
# and updates them with the functions' `manage data-science-model-deployments` (iam.tf, under
# enable_datascience).

locals {
  # OCI's own model deployment metrics (data-science/using/metrics-model-deploy.htm), with the
  # deployment's OCID as resourceId: PredictLatency is in milliseconds, so unlike the hosting
  # clusters' latency_metric_unit there is nothing to convert.
  deployment_metric_namespace   = "oci_datascience_modeldeploy"
  deployment_utilization_metric = "GPUCoreUtilization"

  # Per workflow, its own autoscaling values where the file sets them, else the hosting-cluster
  # alarms' variables (whose defaults are defaultScalingPolicy's): the workflow's policy, as
  # policyFromAutoscaling() builds it for scale-dac.
  deployment_policies = {
    for w in local.datascience_workflows : w.name => {
      latency_threshold   = try(w.autoscaling.latencyP99ThresholdMs, var.latency_p99_high_threshold_ms)
      high_threshold      = try(w.autoscaling.highUtilizationPct, var.utilization_high_threshold_pct)
      low_threshold       = try(w.autoscaling.lowUtilizationPct, var.utilization_low_threshold_pct)
      sustained_threshold = try(w.autoscaling.sustainedLowUtilizationPct, var.utilization_sustained_low_threshold_pct)
      sustained_pending   = try("PT${w.autoscaling.sustainedLowWindowMin}M", var.utilization_sustained_low_pending_duration)
      repeat              = try("PT${w.autoscaling.alarmRepeatMin}M", var.alarm_repeat_notification_duration)
      utilization_metric  = try(w.autoscaling.utilization.metric, local.deployment_utilization_metric)
    } if try(w.autoscaling, null) != null
  }

  # <workflow>-<rule> => one alarm; the keys come from the workflow files, so they are known at
  # plan time.
  deployment_scaling_alarms = merge([
    for workflow, p in local.deployment_policies : {
      "${workflow}-latency-p99-high" = {
        workflow  = workflow
        rule      = "latency-p99-high"
        metric    = "PredictLatency"
        statistic = "percentile(0.99)"
        operator  = ">"
        threshold = p.latency_threshold
        interval  = var.latency_interval
        pending   = var.latency_pending_duration
        repeat    = p.repeat
        severity  = "CRITICAL"
        summary   = "P99 latency over ${p.latency_threshold} ms: scale up"
      }
      "${workflow}-utilization-high" = {
        workflow  = workflow
        rule      = "utilization-high"
        metric    = p.utilization_metric
        statistic = "mean()"
        operator  = ">"
        threshold = p.high_threshold
        interval  = var.utilization_high_interval
        pending   = var.utilization_high_pending_duration
        repeat    = p.repeat
        severity  = "CRITICAL"
        summary   = "Utilization over ${p.high_threshold}%: scale up"
      }
      "${workflow}-utilization-low" = {
        workflow  = workflow
        rule      = "utilization-low"
        metric    = p.utilization_metric
        statistic = "mean()"
        operator  = "<"
        threshold = p.low_threshold
        interval  = var.utilization_interval
        pending   = var.utilization_low_pending_duration
        repeat    = p.repeat
        severity  = "WARNING"
        summary   = "Utilization under ${p.low_threshold}%: scale down"
      }
      "${workflow}-utilization-sustained-low" = {
        workflow  = workflow
        rule      = "utilization-sustained-low"
        metric    = p.utilization_metric
        statistic = "mean()"
        operator  = "<"
        threshold = p.sustained_threshold
        interval  = var.utilization_sustained_interval
        pending   = p.sustained_pending
        repeat    = p.repeat
        severity  = "WARNING"
        summary   = "Utilization under ${p.sustained_threshold}%: scale down"
      }
    }
  ]...)
}

resource "oci_monitoring_alarm" "deployment_scaling" {
  # A filter, not `cond ? map : {}`: Terraform refuses a conditional whose two objects differ.
  for_each = { for key, alarm in local.deployment_scaling_alarms : key => alarm if var.enable_datascience }

  # The compartment the functions create the deployments in (datascience.compartmentId must be it).
  compartment_id        = var.compartment_ocid
  metric_compartment_id = var.compartment_ocid
  display_name          = "${var.name_prefix}-${each.value.workflow}-deployments-${each.value.rule}"
  namespace             = local.deployment_metric_namespace
  query                 = "${each.value.metric}[${each.value.interval}].groupBy(resourceId).${each.value.statistic} ${each.value.operator} ${each.value.threshold}"
  severity              = each.value.severity
  is_enabled            = var.alarms_enabled
  destinations          = [oci_ons_notification_topic.alarms.id]

  # Split: one message, and one FIRING/OK state, per deployment (metric stream).
  is_notifications_per_metric_dimension_enabled = true

  pending_duration             = each.value.pending
  repeat_notification_duration = each.value.repeat
  message_format               = "RAW"
  rule_name                    = each.value.rule
  alarm_summary                = each.value.summary

  body = jsonencode({ dacflow = { workflow = each.value.workflow, rule = each.value.rule } })

  freeform_tags = local.freeform_tags
}
