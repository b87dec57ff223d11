# Scaling alarms per hosting dedicated AI cluster, delivered through the alarms topic to scale-dac.
# Each alarm's body is formatAlarmBody(clusterId, rule) of shared/scaling/alarm.ts, so scale-dac
# knows the cluster and the rule without parsing the query.

locals {
  # Hosting clusters under alarm: the ones passed in, plus the one this module creates (optional).
  # Keys are names chosen by the caller so that for_each keys are known at plan time.
  hosting_clusters = merge(
    var.hosting_cluster_ids,
    { for c in oci_generative_ai_dedicated_ai_cluster.hosting : "managed" => c.id },
  )

  # Latency metric unit is not documented (oci-facts C: NOT FOUND): convert the millisecond
  # threshold to whatever unit the metric uses.
  latency_threshold = var.latency_metric_unit == "s" ? var.latency_p99_high_threshold_ms / 1000 : var.latency_p99_high_threshold_ms

  # The rules of ScalingRule in shared/scaling/alarm.ts that dacflow alarms on.
  scaling_rules = {
    "latency-p99-high" = {
      namespace       = var.latency_metric_namespace
      metric          = var.latency_metric_name
      dimension       = var.latency_dimension_name
      statistic       = "percentile(0.99)"
      operator        = ">"
      threshold       = local.latency_threshold
      interval        = var.latency_interval
      pending         = var.latency_pending_duration
      severity        = "CRITICAL"
      summary         = "P99 latency over ${var.latency_p99_high_threshold_ms} ms: scale up"
      repeat_duration = var.alarm_repeat_notification_duration
    }
    "utilization-high" = {
      namespace       = var.utilization_metric_namespace
      metric          = var.utilization_metric_name
      dimension       = var.utilization_dimension_name
      statistic       = "mean()"
      operator        = ">"
      threshold       = var.utilization_high_threshold_pct
      interval        = var.utilization_high_interval
      pending         = var.utilization_high_pending_duration
      severity        = "CRITICAL"
      summary         = "Utilization over ${var.utilization_high_threshold_pct}%: scale up"
      repeat_duration = var.alarm_repeat_notification_duration
    }
    "utilization-low" = {
      namespace       = var.utilization_metric_namespace
      metric          = var.utilization_metric_name
      dimension       = var.utilization_dimension_name
      statistic       = "mean()"
      operator        = "<"
      threshold       = var.utilization_low_threshold_pct
      interval        = var.utilization_interval
      pending         = var.utilization_low_pending_duration
      severity        = "WARNING"
      summary         = "Utilization under ${var.utilization_low_threshold_pct}%: scale down"
      repeat_duration = var.alarm_repeat_notification_duration
    }
    "utilization-sustained-low" = {
      namespace       = var.utilization_metric_namespace
      metric          = var.utilization_metric_name
      dimension       = var.utilization_dimension_name
      statistic       = "mean()"
      operator        = "<"
      threshold       = var.utilization_sustained_low_threshold_pct
      interval        = var.utilization_sustained_interval
      pending         = var.utilization_sustained_low_pending_duration
      severity        = "WARNING"
      summary         = "Utilization under ${var.utilization_sustained_low_threshold_pct}% for a long window: scale down"
      repeat_duration = var.alarm_repeat_notification_duration
    }
  }

  scaling_alarms = {
    for pair in setproduct(keys(local.hosting_clusters), keys(local.scaling_rules)) :
    "${pair[0]}-${pair[1]}" => merge(local.scaling_rules[pair[1]], {
      cluster_name = pair[0]
      cluster_id   = local.hosting_clusters[pair[0]]
      rule         = pair[1]
    })
  }
}

resource "oci_monitoring_alarm" "scaling" {
  for_each = local.scaling_alarms

  compartment_id        = var.compartment_ocid
  metric_compartment_id = var.compartment_ocid
  display_name          = "${var.name_prefix}-${each.value.cluster_name}-${each.value.rule}"
  namespace             = each.value.namespace
  query                 = "${each.value.metric}[${each.value.interval}]{${each.value.dimension} = \"${each.value.cluster_id}\"}.${each.value.statistic} ${each.value.operator} ${each.value.threshold}"
  severity              = each.value.severity
  is_enabled            = var.alarms_enabled
  destinations          = [oci_ons_notification_topic.alarms.id]

  pending_duration             = each.value.pending
  repeat_notification_duration = each.value.repeat_duration
  message_format               = "RAW"
  rule_name                    = each.value.rule
  alarm_summary                = each.value.summary

  body = jsonencode({ dacflow = { clusterId = each.value.cluster_id, rule = each.value.rule } })

  freeform_tags = local.freeform_tags
}
