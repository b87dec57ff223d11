# dacflow on OCI: one `terraform apply` creates the datasets bucket, the functions, the wiring that
# connects them (Events rules, Notifications subscriptions, the reconcile schedule), the scaling
# alarms and the IAM that lets it all run. The wiring mirrors shared/wiring.ts; the offline checker
# (npm run check:terraform) holds this module against it.

data "oci_objectstorage_namespace" "this" {
  compartment_id = var.tenancy_ocid
}

locals {
  namespace = data.oci_objectstorage_namespace.this.namespace

  # Event types and suffix of datasetCondition() in shared/wiring.ts.
  dataset_event_types = ["com.oraclecloud.objectstorage.createobject", "com.oraclecloud.objectstorage.updateobject"]
  dataset_suffix      = ".jsonl"

  # dacflow's own prefixes in the datasets bucket (reservedPrefixes in shared/wiring.ts).
  reserved_prefixes = ["dacflow/reports/", "dacflow/state/"]

  # One entry per folder under functions/; memory and timeout equal each func.yaml.
  functions = {
    "validate-dataset" = { memory_in_mbs = 256, timeout_in_seconds = 300 }
    "start-finetune"   = { memory_in_mbs = 256, timeout_in_seconds = 120 }
    "poll-status"      = { memory_in_mbs = 256, timeout_in_seconds = 300 }
    "deploy-endpoint"  = { memory_in_mbs = 256, timeout_in_seconds = 120 }
    "scale-dac"        = { memory_in_mbs = 256, timeout_in_seconds = 120 }
  }

  freeform_tags = merge({ "dacflow" = var.name_prefix }, var.freeform_tags)
}
