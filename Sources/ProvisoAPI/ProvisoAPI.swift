// The generated types and server protocol come from openapi.yaml (build plugin).
