{{/* Names, labels and the shared pieces of every redrive pod. */}}

{{- define "redrive.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* release-chart, or just the release when it already contains the chart name. */}}
{{- define "redrive.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "redrive.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "redrive.selectorLabels" -}}
app.kubernetes.io/name: {{ include "redrive.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{/*
Labels as one map, so a user label can never duplicate a chart label (the API server
rejects a key twice): (dict "root" $ "component" "controller" "extra" map), component and
extra optional. The chart's own labels win over commonLabels and extra.
*/}}
{{- define "redrive.labelMap" -}}
{{- $root := .root -}}
{{- $labels := merge (dict) (default dict .extra) (deepCopy $root.Values.commonLabels) -}}
{{- $_ := set $labels "helm.sh/chart" (include "redrive.chart" $root) -}}
{{- $_ := set $labels "app.kubernetes.io/name" (include "redrive.name" $root) -}}
{{- $_ := set $labels "app.kubernetes.io/instance" $root.Release.Name -}}
{{- $_ := set $labels "app.kubernetes.io/version" ($root.Chart.AppVersion | toString) -}}
{{- $_ := set $labels "app.kubernetes.io/managed-by" $root.Release.Service -}}
{{- $_ := set $labels "app.kubernetes.io/part-of" "redrive" -}}
{{- with .component -}}
{{- $_ := set $labels "app.kubernetes.io/component" . -}}
{{- end -}}
{{- toYaml $labels -}}
{{- end -}}

{{- define "redrive.labels" -}}
{{ include "redrive.labelMap" (dict "root" .) }}
{{- end -}}

{{/* Labels of one component: (dict "root" $ "component" "controller"). */}}
{{- define "redrive.componentLabels" -}}
{{ include "redrive.labelMap" . }}
{{- end -}}

{{- define "redrive.componentSelectorLabels" -}}
{{ include "redrive.selectorLabels" .root }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{/* metadata.annotations of a top-level resource, or nothing: include it right after labels. */}}
{{- define "redrive.annotations" -}}
{{- with .Values.commonAnnotations }}
  annotations:
    {{- toYaml . | nindent 4 }}
{{- end }}
{{- end -}}

{{- define "redrive.image" -}}
{{- $repository := printf "%s/%s" .Values.image.registry .Values.image.repository | trimPrefix "/" -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" $repository .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" $repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}
{{- end -}}

{{- define "redrive.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "redrive.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* The Secret holding database URLs and the webhook secret. */}}
{{- define "redrive.secretName" -}}
{{- default (include "redrive.fullname" .) .Values.database.existingSecret -}}
{{- end -}}

{{/*
Key of one database URL in that Secret: (dict "root" $ "use" "workerUrl"). A component
without its own URL (or key) falls back to the shared one.
*/}}
{{- define "redrive.databaseUrlKey" -}}
{{- $values := .root.Values.database -}}
{{- if $values.existingSecret -}}
{{- default $values.existingSecretKeys.url (get $values.existingSecretKeys .use) -}}
{{- else if get $values .use -}}
{{- kebabcase .use | replace "-url" "-database-url" -}}
{{- else -}}
database-url
{{- end -}}
{{- end -}}

{{- define "redrive.webhookSecretKey" -}}
{{- if .Values.database.existingSecret -}}
{{- .Values.database.existingSecretKeys.webhookSecret -}}
{{- else -}}
webhook-secret
{{- end -}}
{{- end -}}

{{/* REDRIVE_DATABASE_URL from the Secret: (dict "root" $ "use" "workerUrl"). */}}
{{- define "redrive.databaseEnv" -}}
- name: REDRIVE_DATABASE_URL
  valueFrom:
    secretKeyRef:
      name: {{ include "redrive.secretName" .root }}
      key: {{ include "redrive.databaseUrlKey" . }}
{{- end -}}

{{/*
The configuration the ConfigMap carries: config, with the gateway pointing at gateway-sim
when the demo gateway is deployed and no other gateway was named.
*/}}
{{- define "redrive.config" -}}
{{- $config := deepCopy .Values.config -}}
{{- if .Values.gatewaySim.enabled -}}
{{- $gateway := default dict $config.gateway -}}
{{- if not $gateway.url -}}
{{- $_ := set $gateway "url" (printf "http://%s-gateway-sim:%d" (include "redrive.fullname" .) (int .Values.gatewaySim.port)) -}}
{{- end -}}
{{- $_ := set $config "gateway" $gateway -}}
{{- end -}}
{{- toYaml $config -}}
{{- end -}}

{{/* Install-time checks: fail early, naming the value to set. */}}
{{- define "redrive.validate" -}}
{{- if and .Values.autoscaling.hpa.enabled .Values.autoscaling.keda.enabled -}}
{{- fail "autoscaling.hpa.enabled and autoscaling.keda.enabled are both true: choose one, they would fight over the worker replicas" -}}
{{- end -}}
{{- if not (or .Values.database.url .Values.database.existingSecret) -}}
{{- fail "set database.url (the chart stores it in a Secret) or database.existingSecret (a Secret you manage)" -}}
{{- end -}}
{{- $config := include "redrive.config" . | fromYaml -}}
{{- $gateway := default dict $config.gateway -}}
{{- if and (or .Values.controller.enabled .Values.workers.payment.enabled) (not $gateway.url) -}}
{{- fail "config.gateway.url is required: the payment workers and the controller call the payment gateway (or set gatewaySim.enabled for a demo)" -}}
{{- end -}}
{{- $webhook := default dict $config.webhook -}}
{{- if and .Values.workers.webhook.enabled (not $webhook.url) -}}
{{- fail "config.webhook.url is required while workers.webhook.enabled is true: it is where payment results are delivered" -}}
{{- end -}}
{{- if and .Values.workers.webhook.enabled (not .Values.database.existingSecret) (not .Values.webhook.secret) -}}
{{- fail "webhook.secret is required while workers.webhook.enabled is true: every delivery is signed with it (or keep it in database.existingSecret)" -}}
{{- end -}}
{{- $worker := default dict $config.worker -}}
{{- range $name := list "payment" "webhook" -}}
{{- $values := get $.Values.workers $name -}}
{{- /* The environment overrides the file, so an extraEnv drain time counts too. */ -}}
{{- $drain := int (default 20 $worker.shutdown_grace_seconds) -}}
{{- range $values.extraEnv -}}
{{- if eq .name "REDRIVE_WORKER_SHUTDOWN_GRACE_SECONDS" -}}
{{- $drain = int .value -}}
{{- end -}}
{{- end -}}
{{- if and $values.enabled (le (int $values.terminationGracePeriodSeconds) $drain) -}}
{{- fail (printf "workers.%s.terminationGracePeriodSeconds (%d) must exceed the worker drain time, worker.shutdown_grace_seconds (%d), or Kubernetes kills workers mid-drain" $name (int $values.terminationGracePeriodSeconds) $drain) -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* Pod-level settings every redrive pod shares. */}}
{{- define "redrive.podSpecCommon" -}}
serviceAccountName: {{ include "redrive.serviceAccountName" . }}
automountServiceAccountToken: false
{{- with .Values.image.pullSecrets }}
imagePullSecrets:
  {{- range . }}
  - name: {{ . }}
  {{- end }}
{{- end }}
securityContext:
  {{- toYaml .Values.podSecurityContext | nindent 2 }}
{{- end -}}

{{/* /tmp is the only writable path: the root filesystem is read-only. */}}
{{- define "redrive.tmpVolume" -}}
- name: tmp
  emptyDir:
    sizeLimit: 64Mi
{{- end -}}

{{- define "redrive.tmpMount" -}}
- name: tmp
  mountPath: /tmp
{{- end -}}
