variable "region" {
  description = "OCI region to deploy to, e.g. eu-frankfurt-1."
  type        = string
}

variable "tenancy_ocid" {
  description = "OCID of the tenancy."
  type        = string
}

variable "compartment_ocid" {
  description = "OCID of the compartment for dacflow."
  type        = string
}

variable "subnet_ids" {
  description = "Subnet OCIDs for the Functions application."
  type        = list(string)
}

variable "image_repository_prefix" {
  description = "OCIR prefix the function images were pushed under, e.g. fra.ocir.io/<namespace>/dacflow."
  type        = string
}

variable "image_tag" {
  description = "Tag of the pushed function images."
  type        = string
  default     = "0.1.0"
}

variable "pipeline_emails" {
  description = "Email addresses for pipeline notifications."
  type        = list(string)
  default     = []
}

variable "hosting_cluster_ids" {
  description = "Existing hosting dedicated AI clusters to autoscale, by short name."
  type        = map(string)
  default     = {}
}
