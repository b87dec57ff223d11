# The workflows come from their YAML files, the same files the local stack runs: each file's
# trigger becomes an Events rule, and the whole set becomes DACFLOW_WORKFLOWS.

locals {
  workflow_documents = [for path in var.workflow_files : yamldecode(file(path))]

  # name => trigger, the WorkflowTrigger of shared/wiring.ts.
  workflows = { for w in local.workflow_documents : w.name => { bucket = w.trigger.bucket, prefix = w.trigger.prefix } }

  # A YAML stream of one JSON document per workflow (JSON is YAML; it drops comments and keeps the
  # value under the 4 KB function configuration limit). shared/config.ts splits it on `---` lines.
  workflows_yaml = "${join("\n---\n", [for w in local.workflow_documents : jsonencode(w)])}\n"
}
