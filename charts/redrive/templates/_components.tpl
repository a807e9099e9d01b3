{{/*
The long-running components that are enabled, as a list of dicts: name (the
app.kubernetes.io/component label), values, and what the component talks to. Services,
PodDisruptionBudgets, NetworkPolicies and ServiceMonitors iterate over it.
*/}}
{{- define "redrive.components" -}}
{{- $components := list -}}
{{- if .Values.controller.enabled -}}
{{- $components = append $components (dict "name" "controller" "values" .Values.controller "gateway" true "webhook" false) -}}
{{- end -}}
{{- if .Values.workers.payment.enabled -}}
{{- $components = append $components (dict "name" "worker-payment" "values" .Values.workers.payment "gateway" true "webhook" false) -}}
{{- end -}}
{{- if .Values.workers.webhook.enabled -}}
{{- $components = append $components (dict "name" "worker-webhook" "values" .Values.workers.webhook "gateway" false "webhook" true) -}}
{{- end -}}
{{- toYaml (dict "items" $components) -}}
{{- end -}}

{{/* One egress rule: TCP to `ports`, to `cidrs` when given, else to any address. */}}
{{- define "redrive.egressRule" -}}
- ports:
    {{- range .ports }}
    - port: {{ . }}
      protocol: TCP
    {{- end }}
  {{- with .cidrs }}
  to:
    {{- range . }}
    - ipBlock:
        cidr: {{ . }}
    {{- end }}
  {{- end }}
{{- end -}}
