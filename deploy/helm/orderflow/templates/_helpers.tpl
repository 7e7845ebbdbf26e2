{{/* The release's prefix for every object: <release>-orderflow, or the release name
     alone when it already says orderflow. */}}
{{- define "orderflow.fullname" -}}
{{- if contains "orderflow" .Release.Name -}}
{{- .Release.Name | trunc 40 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-orderflow" .Release.Name | trunc 40 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "orderflow.labels" -}}
app.kubernetes.io/name: orderflow
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{/* Selector of one service's pods: call with (dict "root" $ "service" $name). */}}
{{- define "orderflow.selector" -}}
app.kubernetes.io/name: orderflow
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .service }}
{{- end -}}

{{- define "orderflow.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}

{{- define "orderflow.dbSecret" -}}
{{- default (printf "%s-database" (include "orderflow.fullname" .)) .Values.database.existingSecret -}}
{{- end -}}

{{- define "orderflow.adminTokenSecret" -}}
{{- default (printf "%s-orders-admin" (include "orderflow.fullname" .)) .Values.ordersAdminToken.existingSecret -}}
{{- end -}}

{{/* Whether KEDA scales a service: call with (dict "root" $ "svc" $svc). */}}
{{- define "orderflow.autoscaled" -}}
{{- if and .root.Values.autoscaling.enabled .svc.consumerGroups -}}true{{- end -}}
{{- end -}}

{{- define "orderflow.kafkaSecret" -}}
{{- default (printf "%s-kafka" (include "orderflow.fullname" .)) .Values.kafka.existingSecret -}}
{{- end -}}

{{/* Whether the services log in to Kafka (any SASL protocol). */}}
{{- define "orderflow.kafkaLogin" -}}
{{- if hasPrefix "SASL_" .Values.kafka.securityProtocol -}}true{{- end -}}
{{- end -}}
