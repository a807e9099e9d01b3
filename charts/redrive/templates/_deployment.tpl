{{/*
One Deployment of a redrive binary. Arguments:
  root       the chart's context ($)
  component  controller | worker-payment | worker-webhook
  values     that component's values (replicaCount, resources, pdb, ...)
  args       the container's command line
  databaseUrl  which database URL it uses (controllerUrl, workerUrl)
  autoscaled true when an HPA or a ScaledObject owns the replica count
*/}}
{{- define "redrive.deployment" -}}
{{- $root := .root -}}
{{- $values := .values -}}
{{- $labels := dict "root" $root "component" .component -}}
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ include "redrive.fullname" $root }}-{{ .component }}
  namespace: {{ $root.Release.Namespace }}
  labels:
    {{- include "redrive.componentLabels" $labels | nindent 4 }}
  {{- include "redrive.annotations" $root }}
spec:
  {{- if not .autoscaled }}
  replicas: {{ $values.replicaCount }}
  {{- end }}
  revisionHistoryLimit: 5
  selector:
    matchLabels:
      {{- include "redrive.componentSelectorLabels" $labels | nindent 6 }}
  strategy:
    type: RollingUpdate
    rollingUpdate:
      maxSurge: 1
      maxUnavailable: 0
  template:
    metadata:
      labels:
        {{- include "redrive.labelMap" (dict "root" $root "component" .component "extra" $values.podLabels) | nindent 8 }}
      annotations:
        {{- /* A changed configuration or Secret rolls the pods; these win over podAnnotations. */}}
        {{- $annotations := deepCopy $values.podAnnotations }}
        {{- $_ := set $annotations "checksum/config" (include "redrive.config" $root | sha256sum) }}
        {{- if not $root.Values.database.existingSecret }}
        {{- $_ := set $annotations "checksum/secret" (include (print $root.Template.BasePath "/secret.yaml") $root | sha256sum) }}
        {{- end }}
        {{- toYaml $annotations | nindent 8 }}
    spec:
      {{- include "redrive.podSpecCommon" $root | nindent 6 }}
      terminationGracePeriodSeconds: {{ $values.terminationGracePeriodSeconds }}
      containers:
        - name: {{ .component }}
          image: {{ include "redrive.image" $root }}
          imagePullPolicy: {{ $root.Values.image.pullPolicy }}
          args:
            {{- toYaml .args | nindent 12 }}
            - --config
            - /etc/redrive/redrive.yaml
          env:
            {{- include "redrive.databaseEnv" (dict "root" $root "use" .databaseUrl) | nindent 12 }}
            {{- if eq .component "worker-webhook" }}
            - name: REDRIVE_WEBHOOK_SECRET
              valueFrom:
                secretKeyRef:
                  name: {{ include "redrive.secretName" $root }}
                  key: {{ include "redrive.webhookSecretKey" $root }}
            {{- end }}
            - name: REDRIVE_ADMIN_LISTEN
              value: "0.0.0.0:{{ $root.Values.metrics.port }}"
            # The pod name is the instance id: it names claims, the leader lease and audit rows.
            - name: {{ if eq .component "controller" }}REDRIVE_CONTROLLER_INSTANCE_ID{{ else }}REDRIVE_WORKER_INSTANCE_ID{{ end }}
              valueFrom:
                fieldRef:
                  fieldPath: metadata.name
            {{- with $values.extraEnv }}
            {{- toYaml . | nindent 12 }}
            {{- end }}
          ports:
            - name: admin
              containerPort: {{ $root.Values.metrics.port }}
              protocol: TCP
          startupProbe:
            httpGet:
              path: /healthz
              port: admin
            periodSeconds: 2
            failureThreshold: 30
          livenessProbe:
            httpGet:
              path: /healthz
              port: admin
            periodSeconds: 10
            timeoutSeconds: 3
            failureThreshold: 3
          readinessProbe:
            httpGet:
              path: /readyz
              port: admin
            periodSeconds: 5
            timeoutSeconds: 3
            failureThreshold: 2
          resources:
            {{- toYaml $values.resources | nindent 12 }}
          securityContext:
            {{- toYaml $root.Values.containerSecurityContext | nindent 12 }}
          volumeMounts:
            - name: config
              mountPath: /etc/redrive
              readOnly: true
            {{- include "redrive.tmpMount" $root | nindent 12 }}
      volumes:
        - name: config
          configMap:
            name: {{ include "redrive.fullname" $root }}-config
        {{- include "redrive.tmpVolume" $root | nindent 8 }}
      {{- with $values.nodeSelector }}
      nodeSelector:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with $values.tolerations }}
      tolerations:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with $values.affinity }}
      affinity:
        {{- toYaml . | nindent 8 }}
      {{- end }}
{{- end -}}
