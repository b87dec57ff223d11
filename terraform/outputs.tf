output "bucket_name" {
  description = "Name of the datasets bucket."
  value       = oci_objectstorage_bucket.this.name
}

output "namespace" {
  description = "Object Storage namespace of the tenancy."
  value       = local.namespace
}

output "pipeline_topic_id" {
  description = "OCID of the pipeline Notifications topic (DACFLOW_PIPELINE_TOPIC_ID)."
  value       = oci_ons_notification_topic.pipeline.id
}

output "alarms_topic_id" {
  description = "OCID of the alarms Notifications topic that delivers to scale-dac."
  value       = oci_ons_notification_topic.alarms.id
}

output "application_id" {
  description = "OCID of the Functions application."
  value       = oci_functions_application.this.id
}

output "function_ids" {
  description = "Function OCIDs by function name."
  value       = { for name, f in oci_functions_function.this : name => f.id }
}

output "event_rule_ids" {
  description = "Events rule OCIDs by workflow name."
  value       = { for name, r in oci_events_rule.dataset : name => r.id }
}

output "datascience_events_rule_id" {
  description = "OCID of the Events rule that sends Data Science job-run and model-deployment events to poll-status (null without enable_datascience or a datascience workflow)."
  value       = one(oci_events_rule.datascience[*].id)
}

output "alarm_ids" {
  description = "Scaling alarm OCIDs by <cluster name>-<rule>."
  value       = { for key, a in oci_monitoring_alarm.scaling : key => a.id }
}

output "deployment_alarm_ids" {
  description = "Model-deployment scaling alarm OCIDs by <workflow>-<rule> (datascience workflows with autoscaling; empty without enable_datascience)."
  value       = { for key, a in oci_monitoring_alarm.deployment_scaling : key => a.id }
}

output "poll_schedule_id" {
  description = "OCID of the Resource Scheduler schedule that starts poll-status."
  value       = oci_resource_scheduler_schedule.poll_status.id
}

output "dedicated_ai_cluster_ids" {
  description = "OCIDs of the dedicated AI clusters this module created (null when not created)."
  value = {
    finetuning = one(oci_generative_ai_dedicated_ai_cluster.finetuning[*].id)
    hosting    = one(oci_generative_ai_dedicated_ai_cluster.hosting[*].id)
  }
}

output "endpoint_id" {
  description = "OCID of the starting endpoint (null when not created)."
  value       = one(oci_generative_ai_endpoint.this[*].id)
}

output "upload_commands" {
  description = "How to upload a dataset for each workflow (oci CLI)."
  value = {
    for name, w in local.workflows :
    name => "oci os object put --namespace ${local.namespace} --bucket-name ${w.bucket} --file ./train.jsonl --name ${w.prefix}train.jsonl"
  }
}

output "work_topic_ids" {
  description = "OCIDs of the internal work topics by topic key (validate-dataset, start-finetune, deploy-endpoint)."
  value       = { for key, t in oci_ons_notification_topic.work : key => t.id }
}

output "datascience_project_id" {
  description = "OCID of the Data Science project for datascience workflows' `datascience.projectId`: the one created, or datascience_project_id (null without enable_datascience)."
  value       = var.enable_datascience ? local.datascience_project_id : null
}

output "datascience_output_bucket_name" {
  description = "The versioned AQUA output bucket for datascience workflows' `datascience.outputBucket` (null without enable_datascience)."
  value       = one(oci_objectstorage_bucket.aqua_output[*].name)
}

output "datascience_dynamic_groups" {
  description = "Names of the dynamic groups of the Data Science job runs and model deployments (null without enable_datascience)."
  value = var.enable_datascience ? {
    job_runs          = one(oci_identity_dynamic_group.datascience_job_runs[*].name)
    model_deployments = one(oci_identity_dynamic_group.datascience_model_deployments[*].name)
  } : null
}
