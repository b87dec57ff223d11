# One OCI Functions application and one function per folder under functions/.

locals {
  function_images = {
    for name, _ in local.functions :
    name => lookup(var.function_images, name, "${var.image_repository_prefix}/${name}:${var.image_tag}")
  }

  # What every function reads at cold start (shared/config.ts). OCI Functions passes config as
  # environment variables; application and function config together are limited to 4 KB.
  function_config = {
    DACFLOW_STATE_BUCKET              = oci_objectstorage_bucket.this.name
    DACFLOW_STATE_NAMESPACE           = local.namespace
    DACFLOW_PIPELINE_TOPIC_ID         = oci_ons_notification_topic.pipeline.id
    DACFLOW_VALIDATE_DATASET_TOPIC_ID = oci_ons_notification_topic.work["validate-dataset"].id
    DACFLOW_START_FINETUNE_TOPIC_ID   = oci_ons_notification_topic.work["start-finetune"].id
    DACFLOW_DEPLOY_ENDPOINT_TOPIC_ID  = oci_ons_notification_topic.work["deploy-endpoint"].id
    DACFLOW_COMPARTMENT_ID            = var.compartment_ocid
    DACFLOW_WORKFLOWS                 = local.workflows_yaml
    DACFLOW_LOG_LEVEL                 = var.log_level
  }
}

resource "oci_functions_application" "this" {
  compartment_id = var.compartment_ocid
  display_name   = "${var.name_prefix}-app"
  subnet_ids     = var.subnet_ids
  shape          = var.function_shape

  freeform_tags = local.freeform_tags
}

resource "oci_functions_function" "this" {
  for_each = local.functions

  application_id     = oci_functions_application.this.id
  display_name       = each.key
  image              = local.function_images[each.key]
  memory_in_mbs      = each.value.memory_in_mbs
  timeout_in_seconds = each.value.timeout_in_seconds
  # Resource Scheduler always invokes detached (functionsscheduling.htm); only poll-status is
  # scheduled, so only it gets a detached timeout of its own.
  detached_mode_timeout_in_seconds = each.key == "poll-status" ? var.poll_status_detached_timeout_in_seconds : null
  config                           = local.function_config

  lifecycle {
    precondition {
      condition     = length(jsonencode(local.function_config)) <= 4096
      error_message = "Function configuration is over 4 KB (OCI Functions' limit): shorten the workflow files."
    }
  }

  freeform_tags = local.freeform_tags
}
