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
  enable_datascience = true

  pipeline_emails     = var.pipeline_emails
  hosting_cluster_ids = var.hosting_cluster_ids
}
