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
