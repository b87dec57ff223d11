# dacflow in one compartment, with the shipped example workflows and existing hosting clusters
# under autoscaling. Fill terraform.tfvars, then `terraform init && terraform apply`.

module "dacflow" {
  source = "../.."

  tenancy_ocid     = var.tenancy_ocid
  compartment_ocid = var.compartment_ocid
  subnet_ids       = var.subnet_ids

  image_repository_prefix = var.image_repository_prefix
  image_tag               = var.image_tag

  workflow_files = [
    "${path.module}/../../../workflows/examples/genai-support-bot.yaml",
    "${path.module}/../../../workflows/examples/aqua-llama.yaml",
  ]
  # aqua-llama.yaml is a `backend: datascience` workflow: the AQUA output bucket (versioned), a
  # project and the job run / model deployment groups and policies. Its outputBucket is the
  # default datascience_output_bucket_name; put the datascience_project_id output into its
  # datascience.projectId, or pass an existing project:
  enable_datascience = true
  # datascience_output_bucket_name = "dacflow-aqua-models"
  # datascience_project_id         = "ocid1.datascienceproject.oc1.eu-frankfurt-1.aaaaaaaaexample"

  pipeline_emails     = var.pipeline_emails
  hosting_cluster_ids = var.hosting_cluster_ids
}
