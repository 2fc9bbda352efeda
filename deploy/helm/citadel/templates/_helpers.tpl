{{/* Names and labels shared by every template. */}}
{{- define "citadel.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "citadel.selectorLabels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "citadel.labels" -}}
{{ include "citadel.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "citadel.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "citadel.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "citadel.claimName" -}}
{{- default (printf "%s-models" (include "citadel.fullname" .)) .Values.model.existingClaim -}}
{{- end -}}

{{- define "citadel.tlsSecretName" -}}
{{- if .Values.tls.cert -}}
{{- printf "%s-tls" (include "citadel.fullname" .) -}}
{{- else -}}
{{- required "tls.existingSecret or tls.cert/tls.key must be set when tls.enabled" .Values.tls.existingSecret -}}
{{- end -}}
{{- end -}}

{{/* mode: gateway — a gateway Deployment in front of engine Deployments (docs/deploy.md).
     The engine is today's all-in-one server; in gateway mode its names and labels say so. */}}
{{- define "citadel.gatewayMode" -}}
{{- if eq .Values.mode "gateway" -}}true{{- end -}}
{{- end -}}

{{- define "citadel.engineName" -}}
{{- if include "citadel.gatewayMode" . -}}
{{- printf "%s-engine" (include "citadel.fullname" . | trunc 56 | trimSuffix "-") -}}
{{- else -}}
{{- include "citadel.fullname" . -}}
{{- end -}}
{{- end -}}

{{- define "citadel.engineSelectorLabels" -}}
{{ include "citadel.selectorLabels" . }}
{{- if include "citadel.gatewayMode" . }}
app.kubernetes.io/component: engine
{{- end }}
{{- end -}}

{{- define "citadel.engineHeadlessName" -}}
{{- printf "%s-engine-headless" (include "citadel.fullname" . | trunc 47 | trimSuffix "-") -}}
{{- end -}}

{{- define "citadel.gatewayName" -}}
{{- printf "%s-gateway" (include "citadel.fullname" . | trunc 55 | trimSuffix "-") -}}
{{- end -}}

{{- define "citadel.gatewaySelectorLabels" -}}
{{ include "citadel.selectorLabels" . }}
app.kubernetes.io/component: gateway
{{- end -}}

{{/* The id clients and the gateway use for the engines' model: model.id, else the server's own
     rule (the file name without .gguf). */}}
{{- define "citadel.modelId" -}}
{{- default (trimSuffix ".gguf" (base .Values.model.file)) .Values.model.id -}}
{{- end -}}
