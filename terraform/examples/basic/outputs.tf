output "bucket_name" {
  description = "Name of the datasets bucket."
  value       = module.dacflow.bucket_name
}

output "function_ids" {
  description = "Function OCIDs by function name."
  value       = module.dacflow.function_ids
}

output "upload_commands" {
  description = "How to upload a dataset for each workflow."
  value       = module.dacflow.upload_commands
}

output "datascience_project_id" {
  description = "Data Science project for the datascience workflows' datascience.projectId."
  value       = module.dacflow.datascience_project_id
}
