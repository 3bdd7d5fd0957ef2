// Placeholder so the skeleton builds; replaced when the module's issue lands.
