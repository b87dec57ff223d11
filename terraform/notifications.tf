# `pipeline` tells people what happened to their runs; `alarms` carries Monitoring
# alarms to scale-dac (at-least-once delivery: scale-dac deduplicates on dedupeKey + timestamp).

resource "oci_ons_notification_topic" "pipeline" {
  compartment_id = var.compartment_ocid
  name           = "${var.name_prefix}-pipeline"
  description    = "dacflow pipeline notifications (validation reports, run state changes)"

  freeform_tags = local.freeform_tags
}

resource "oci_ons_subscription" "pipeline_email" {
  for_each = toset(var.pipeline_emails)

  compartment_id = var.compartment_ocid
  topic_id       = oci_ons_notification_topic.pipeline.id
  protocol       = "EMAIL"
  endpoint       = each.value

  freeform_tags = local.freeform_tags
}

resource "oci_ons_notification_topic" "alarms" {
  compartment_id = var.compartment_ocid
  name           = "${var.name_prefix}-alarms"
  description    = "dacflow scaling alarms, delivered to the scale-dac function"

  freeform_tags = local.freeform_tags
}

resource "oci_ons_subscription" "alarms_scale_dac" {
  compartment_id = var.compartment_ocid
  topic_id       = oci_ons_notification_topic.alarms.id
  protocol       = "ORACLE_FUNCTIONS"
  endpoint       = oci_functions_function.this["scale-dac"].id

  freeform_tags = local.freeform_tags
}

# Internal work topics (topicKeys in shared/wiring.ts), each subscribed by the function of the
# same name: the fast path from one step to the next, delivered at least once, and the way the
# reconciler re-drives a step whose trigger was lost.

locals {
  # Topic key => the function subscribed to it.
  work_topics = {
    "validate-dataset" = "validate-dataset"
    "start-finetune"   = "start-finetune"
    "deploy-endpoint"  = "deploy-endpoint"
  }
}

resource "oci_ons_notification_topic" "work" {
  for_each = local.work_topics

  compartment_id = var.compartment_ocid
  name           = "${var.name_prefix}-${each.key}"
  description    = "dacflow internal work topic: ${each.key}"

  freeform_tags = local.freeform_tags
}

resource "oci_ons_subscription" "work" {
  for_each = local.work_topics

  compartment_id = var.compartment_ocid
  topic_id       = oci_ons_notification_topic.work[each.key].id
  protocol       = "ORACLE_FUNCTIONS"
  endpoint       = oci_functions_function.this[each.value].id

  freeform_tags = local.freeform_tags
}
