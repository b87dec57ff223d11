# ---------------------------------------------------------------------------------------------
# Tenancy and naming
# ---------------------------------------------------------------------------------------------

variable "tenancy_ocid" {
  description = "OCID of the tenancy. Dynamic groups are created here."
  type        = string

  validation {
    condition     = can(regex("^ocid1\\.tenancy\\.", var.tenancy_ocid))
    error_message = "tenancy_ocid must be a tenancy OCID (ocid1.tenancy...)."
  }
}

variable "compartment_ocid" {
  description = "OCID of the compartment that holds every dacflow resource and that the policies grant access in."
  type        = string

  validation {
    condition     = can(regex("^ocid1\\.(compartment|tenancy)\\.", var.compartment_ocid))
    error_message = "compartment_ocid must be a compartment (or tenancy) OCID."
  }
}

variable "name_prefix" {
  description = "Prefix of every resource name (topics, dynamic groups and policies must be unique in the tenancy)."
  type        = string
  default     = "dacflow"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,30}$", var.name_prefix))
    error_message = "name_prefix must be lowercase letters, digits and dashes, starting with a letter, at most 31 characters."
  }
}

variable "freeform_tags" {
  description = "Extra freeform tags for every resource (a `dacflow` tag is always added)."
  type        = map(string)
  default     = {}
}

# ---------------------------------------------------------------------------------------------
# Datasets bucket and workflows
# ---------------------------------------------------------------------------------------------

variable "bucket_name" {
  description = "Name of the datasets bucket (unique in the namespace). Also holds dacflow/reports/ and dacflow/state/."
  type        = string
  default     = "dacflow-datasets"

  validation {
    condition     = can(regex("^[A-Za-z0-9._-]{1,256}$", var.bucket_name))
    error_message = "bucket_name may contain letters, digits, dots, dashes and underscores (1-256 characters)."
  }
}

variable "workflow_files" {
  description = "Paths of the workflow YAML files (one workflow each, as in workflows/examples/). Each workflow's trigger gets an Events rule; all of them are passed to every function as DACFLOW_WORKFLOWS."
  type        = list(string)

  validation {
    condition     = length(var.workflow_files) > 0
    error_message = "workflow_files must name at least one workflow file."
  }
  validation {
    condition     = alltrue([for f in var.workflow_files : fileexists(f)])
    error_message = "Every entry of workflow_files must be an existing file."
  }
}

# ---------------------------------------------------------------------------------------------
# Functions
# ---------------------------------------------------------------------------------------------

variable "subnet_ids" {
  description = "Subnet OCIDs for the Functions application (a private subnet with a service gateway is enough)."
  type        = list(string)

  validation {
    condition     = length(var.subnet_ids) > 0
    error_message = "subnet_ids must contain at least one subnet OCID."
  }
}

variable "function_shape" {
  description = "Shape of the Functions application: GENERIC_X86, GENERIC_ARM or GENERIC_X86_ARM (must match the images' architecture)."
  type        = string
  default     = "GENERIC_X86"

  validation {
    condition     = contains(["GENERIC_X86", "GENERIC_ARM", "GENERIC_X86_ARM"], var.function_shape)
    error_message = "function_shape must be GENERIC_X86, GENERIC_ARM or GENERIC_X86_ARM."
  }
}

variable "image_repository_prefix" {
  description = "OCIR prefix of the function images, e.g. iad.ocir.io/<namespace>/dacflow; each image is <prefix>/<function>:<image_tag>."
  type        = string

  validation {
    condition     = length(var.image_repository_prefix) > 0 && !endswith(var.image_repository_prefix, "/")
    error_message = "image_repository_prefix must be non-empty and must not end with '/'."
  }
}

variable "image_tag" {
  description = "Tag of the function images pushed under image_repository_prefix."
  type        = string
  default     = "0.1.0"
}

variable "function_images" {
  description = "Full image references by function name (e.g. { \"scale-dac\" = \"iad.ocir.io/ns/dacflow/scale-dac@sha256:...\" }); overrides image_repository_prefix/image_tag."
  type        = map(string)
  default     = {}

  validation {
    condition     = alltrue([for k, _ in var.function_images : contains(["validate-dataset", "start-finetune", "poll-status", "deploy-endpoint", "scale-dac"], k)])
    error_message = "function_images keys must be dacflow function names."
  }
}

variable "log_level" {
  description = "DACFLOW_LOG_LEVEL of every function."
  type        = string
  default     = "info"

  validation {
    condition     = contains(["debug", "info", "warn", "error"], var.log_level)
    error_message = "log_level must be debug, info, warn or error."
  }
}

variable "poll_status_detached_timeout_in_seconds" {
  description = "Detached-mode timeout of poll-status, which Resource Scheduler always invokes detached (5-3600 s)."
  type        = number
  default     = 300

  validation {
    condition     = var.poll_status_detached_timeout_in_seconds >= 5 && var.poll_status_detached_timeout_in_seconds <= 3600
    error_message = "poll_status_detached_timeout_in_seconds must be between 5 and 3600."
  }
}

variable "poll_cron" {
  description = "Cron expression (five fields, UTC) of the reconcile schedule that starts poll-status. The Resource Scheduler's minimum interval is not documented."
  type        = string
  default     = "* * * * *"

  validation {
    condition     = length(split(" ", trimspace(var.poll_cron))) == 5
    error_message = "poll_cron must have five fields."
  }
}

# ---------------------------------------------------------------------------------------------
# Notifications
# ---------------------------------------------------------------------------------------------

variable "pipeline_emails" {
  description = "Email addresses subscribed to the pipeline topic (each must confirm the subscription)."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for e in var.pipeline_emails : can(regex("^[^@ ]+@[^@ ]+$", e))])
    error_message = "pipeline_emails must be email addresses."
  }
}

# ---------------------------------------------------------------------------------------------
# Generative AI clusters (optional)
# ---------------------------------------------------------------------------------------------

variable "hosting_cluster_ids" {
  description = "Existing hosting dedicated AI clusters to autoscale, by a short name of your choice (the name appears in alarm names)."
  type        = map(string)
  default     = {}

  validation {
    condition     = alltrue([for name, _ in var.hosting_cluster_ids : can(regex("^[a-z0-9-]{1,40}$", name))])
    error_message = "hosting_cluster_ids keys must be lowercase letters, digits and dashes."
  }
}

variable "create_hosting_cluster" {
  description = "Create a hosting dedicated AI cluster (alarmed under the name `managed`)."
  type        = bool
  default     = false
}

variable "hosting_cluster_unit_shape" {
  description = "Unit shape of the created hosting cluster (depends on the base model, e.g. LARGE_GENERIC)."
  type        = string
  default     = "LARGE_GENERIC"
}

variable "hosting_cluster_unit_count" {
  description = "Starting unit count of the created hosting cluster; scale-dac changes it afterwards."
  type        = number
  default     = 1

  validation {
    condition     = var.hosting_cluster_unit_count >= 1
    error_message = "hosting_cluster_unit_count must be at least 1."
  }
}

variable "create_finetuning_cluster" {
  description = "Create a fine-tuning dedicated AI cluster."
  type        = bool
  default     = false
}

variable "finetuning_cluster_unit_shape" {
  description = "Unit shape of the created fine-tuning cluster (depends on the base model)."
  type        = string
  default     = "LARGE_GENERIC"
}

variable "finetuning_cluster_unit_count" {
  description = "Unit count of the created fine-tuning cluster (the base model's documentation names the required count)."
  type        = number
  default     = 2

  validation {
    condition     = var.finetuning_cluster_unit_count >= 1
    error_message = "finetuning_cluster_unit_count must be at least 1."
  }
}

variable "endpoint_model_id" {
  description = "Model OCID for a starting endpoint on the created hosting cluster; null for none (deploy-endpoint creates endpoints for fine-tuned models)."
  type        = string
  default     = null
}

# ---------------------------------------------------------------------------------------------
# Data Science backend (AI Quick Actions style), optional
# ---------------------------------------------------------------------------------------------

variable "enable_datascience" {
  description = "Deploy what `backend: datascience` workflows need: the versioned AQUA output bucket, a Data Science project (unless datascience_project_id is given), dynamic groups for job runs and model deployments, and the policies of the functions, job runs and model deployments."
  type        = bool
  default     = false
}

variable "datascience_output_bucket_name" {
  description = "Name of the AQUA output bucket (created with object versioning, which AQUA requires). Every datascience workflow's `datascience.outputBucket` must equal it (a precondition checks); it must differ from bucket_name."
  type        = string
  default     = "dacflow-aqua-models"

  validation {
    condition     = can(regex("^[A-Za-z0-9._-]{1,256}$", var.datascience_output_bucket_name))
    error_message = "datascience_output_bucket_name may contain letters, digits, dots, dashes and underscores (1-256 characters)."
  }
}

variable "datascience_project_id" {
  description = "OCID of an existing Data Science project in compartment_ocid; null creates one. Every datascience workflow's `datascience.projectId` must equal it when it is given (a precondition checks)."
  type        = string
  default     = null

  validation {
    condition     = var.datascience_project_id == null || can(regex("^ocid1\\.datascienceproject\\.", var.datascience_project_id))
    error_message = "datascience_project_id must be a Data Science project OCID (ocid1.datascienceproject...) or null."
  }
}

# ---------------------------------------------------------------------------------------------
# Scaling alarms
# ---------------------------------------------------------------------------------------------

variable "alarms_enabled" {
  description = "Whether the scaling alarms are enabled."
  type        = bool
  default     = true
}

variable "alarm_repeat_notification_duration" {
  description = "While an alarm stays FIRING, Monitoring re-sends it (REPEAT) this often (ISO 8601, PT1M-P30D); scale-dac acts on a repeat when an earlier message was ignored (cooldown). Default: the scaling policy's alarmRepeatMin."
  type        = string
  default     = "PT5M"

  validation {
    condition     = can(regex("^(PT([1-9][0-9]*)[MH]|P([1-9]|[12][0-9]|30)D)$", var.alarm_repeat_notification_duration))
    error_message = "alarm_repeat_notification_duration must be an ISO 8601 duration such as PT30M, PT2H or P1D."
  }
}

variable "latency_metric_namespace" {
  description = "Namespace of the latency metric (OCI Generative AI publishes under oci_generativeai)."
  type        = string
  default     = "oci_generativeai"
}

variable "latency_metric_name" {
  description = "Latency metric name. InvocationLatency is in the documented custom-query table; confirm with ListMetrics in your tenancy."
  type        = string
  default     = "InvocationLatency"
}

variable "latency_dimension_name" {
  description = "Dimension of the latency metric that holds the cluster OCID. NOT FOUND in OCI docs: confirm with ListMetrics."
  type        = string
  default     = "resourceId"
}

variable "latency_metric_unit" {
  description = "Unit of the latency metric, ms or s. NOT FOUND in OCI docs: confirm with ListMetrics; the threshold is converted."
  type        = string
  default     = "ms"

  validation {
    condition     = contains(["ms", "s"], var.latency_metric_unit)
    error_message = "latency_metric_unit must be ms or s."
  }
}

variable "latency_p99_high_threshold_ms" {
  description = "Rule latency-p99-high fires when P99 latency is over this many milliseconds (the workflow default SLO)."
  type        = number
  default     = 5000

  validation {
    condition     = var.latency_p99_high_threshold_ms > 0 && var.latency_p99_high_threshold_ms <= 600000
    error_message = "latency_p99_high_threshold_ms must be between 1 and 600000."
  }
}

variable "latency_interval" {
  description = "MQL interval of the latency query (1m-60m)."
  type        = string
  default     = "1m"

  validation {
    condition     = can(regex("^[1-9][0-9]?m$", var.latency_interval))
    error_message = "latency_interval must be minutes, e.g. 1m or 5m."
  }
}

variable "latency_pending_duration" {
  description = "How long latency must stay high before latency-p99-high fires (PT1M-PT1H)."
  type        = string
  default     = "PT1M"

  validation {
    condition     = can(regex("^PT([1-9]|[1-5][0-9]|60)M$|^PT1H$", var.latency_pending_duration))
    error_message = "latency_pending_duration must be PT1M to PT60M, or PT1H."
  }
}

variable "utilization_metric_namespace" {
  description = "Namespace of the utilization metric. Default: dacflow's custom namespace, which dacflow publishes (OCI's native MQL name for Utilization is undocumented). Set oci_generativeai and utilization_metric_name to use a native metric."
  type        = string
  default     = "dacflow_autoscaling"

  validation {
    condition     = can(regex("^[a-z][a-z0-9_]{0,254}$", var.utilization_metric_namespace))
    error_message = "utilization_metric_namespace must be lowercase letters, digits and underscores."
  }
}

variable "utilization_metric_name" {
  description = "Utilization metric name (percent, 0-100)."
  type        = string
  default     = "DerivedUtilization"
}

variable "utilization_dimension_name" {
  description = "Dimension of the utilization metric that holds the cluster OCID."
  type        = string
  default     = "resourceId"
}

variable "utilization_interval" {
  description = "MQL interval of the utilization-low query (a 5-minute mean, so one quiet minute cannot scale down)."
  type        = string
  default     = "5m"

  validation {
    condition     = can(regex("^[1-9][0-9]?m$", var.utilization_interval))
    error_message = "utilization_interval must be minutes, e.g. 1m."
  }
}

variable "utilization_sustained_interval" {
  description = "MQL interval of the utilization-sustained-low query (the longer window)."
  type        = string
  default     = "5m"

  validation {
    condition     = can(regex("^[1-9][0-9]?m$", var.utilization_sustained_interval))
    error_message = "utilization_sustained_interval must be minutes, e.g. 5m."
  }
}

variable "utilization_high_interval" {
  description = "MQL interval of the utilization-high query."
  type        = string
  default     = "1m"

  validation {
    condition     = can(regex("^[1-9][0-9]?m$", var.utilization_high_interval))
    error_message = "utilization_high_interval must be minutes, e.g. 1m."
  }
}

variable "utilization_high_threshold_pct" {
  description = "Rule utilization-high fires when utilization is over this percentage (the workflow default): scale up before latency suffers."
  type        = number
  default     = 88

  validation {
    condition     = var.utilization_high_threshold_pct > 0 && var.utilization_high_threshold_pct <= 100
    error_message = "utilization_high_threshold_pct must be over 0 and at most 100."
  }
}

variable "utilization_high_pending_duration" {
  description = "How long utilization must stay over utilization_high_threshold_pct before utilization-high fires."
  type        = string
  default     = "PT2M"

  validation {
    condition     = can(regex("^PT([1-9]|[1-5][0-9]|60)M$|^PT1H$", var.utilization_high_pending_duration))
    error_message = "utilization_high_pending_duration must be PT1M to PT60M, or PT1H."
  }
}

variable "utilization_low_threshold_pct" {
  description = "Rule utilization-low fires when utilization is under this percentage (the workflow default)."
  type        = number
  default     = 30

  validation {
    condition     = var.utilization_low_threshold_pct > 0 && var.utilization_low_threshold_pct < 100
    error_message = "utilization_low_threshold_pct must be between 0 and 100 (exclusive)."
  }
}

variable "utilization_low_pending_duration" {
  description = "How long utilization must stay under utilization_low_threshold_pct before utilization-low fires."
  type        = string
  default     = "PT5M"

  validation {
    condition     = can(regex("^PT([1-9]|[1-5][0-9]|60)M$|^PT1H$", var.utilization_low_pending_duration))
    error_message = "utilization_low_pending_duration must be PT1M to PT60M, or PT1H."
  }
}

variable "utilization_sustained_low_threshold_pct" {
  description = "Rule utilization-sustained-low fires when utilization stays under this percentage over the longer window (the workflow default)."
  type        = number
  default     = 80

  validation {
    condition     = var.utilization_sustained_low_threshold_pct > 0 && var.utilization_sustained_low_threshold_pct < 100
    error_message = "utilization_sustained_low_threshold_pct must be between 0 and 100 (exclusive)."
  }
}

variable "utilization_sustained_low_pending_duration" {
  description = "How long utilization must stay under utilization_sustained_low_threshold_pct before utilization-sustained-low fires (the longer window)."
  type        = string
  default     = "PT10M"

  validation {
    condition     = can(regex("^PT([1-9]|[1-5][0-9]|60)M$|^PT1H$", var.utilization_sustained_low_pending_duration))
    error_message = "utilization_sustained_low_pending_duration must be PT1M to PT60M, or PT1H."
  }
}
