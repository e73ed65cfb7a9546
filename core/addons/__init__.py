"""The platform's add-on machinery: manifests, registry, installer, migrations, data files."""
