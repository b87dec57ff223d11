terraform {
  required_version = ">= 1.5.0"

  required_providers {
    oci = {
      source = "oracle/oci"
      # Attributes are checked offline against @pulumi/oci 4.20.0, which bridges a provider at
      # or after 7.24.0 (pulumi/pulumi-oci#922); see scripts/oci-provider-schema.json.
      version = ">= 7.24.0"
    }
  }
}
