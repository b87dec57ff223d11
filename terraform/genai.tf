# Optional dedicated AI clusters and a starting endpoint. dacflow's functions create fine-tuned
# models and endpoints themselves; these are for a tenancy that has no clusters yet.

resource "oci_generative_ai_dedicated_ai_cluster" "finetuning" {
  count = var.create_finetuning_cluster ? 1 : 0

  compartment_id = var.compartment_ocid
  display_name   = "${var.name_prefix}-finetuning"
  type           = "FINE_TUNING"
  unit_shape     = var.finetuning_cluster_unit_shape
  unit_count     = var.finetuning_cluster_unit_count

  freeform_tags = local.freeform_tags
}

resource "oci_generative_ai_dedicated_ai_cluster" "hosting" {
  count = var.create_hosting_cluster ? 1 : 0

  compartment_id = var.compartment_ocid
  display_name   = "${var.name_prefix}-hosting"
  type           = "HOSTING"
  unit_shape     = var.hosting_cluster_unit_shape
  unit_count     = var.hosting_cluster_unit_count

  freeform_tags = local.freeform_tags
}

resource "oci_generative_ai_endpoint" "this" {
  count = var.create_hosting_cluster && var.endpoint_model_id != null ? 1 : 0

  compartment_id          = var.compartment_ocid
  display_name            = "${var.name_prefix}-endpoint"
  dedicated_ai_cluster_id = oci_generative_ai_dedicated_ai_cluster.hosting[0].id
  model_id                = var.endpoint_model_id

  freeform_tags = local.freeform_tags
}
