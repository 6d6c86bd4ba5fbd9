package templates

// SSHTemplate is one of the `step ssh config` templates `step ca init --ssh`
// writes under templates/ssh/ (wire-spec §1.7).
type SSHTemplate struct {
	Name     string   // file name, e.g. "config.tpl"
	Type     string   // "snippet", "file", "prepend-line"
	Path     string   // where `step ssh config` writes the output
	Requires []string // data keys the template needs (host: Certificate, Key)
	Text     string
}

// DefaultSSHUserTemplates returns the user templates of step-ca, in its
// order: ~/.ssh/config snippet, the includes line, step's ssh config and
// known_hosts.
func DefaultSSHUserTemplates() []SSHTemplate {
	return []SSHTemplate{
		{Name: "config.tpl", Type: "snippet", Path: "~/.ssh/config", Text: sshConfigTpl},
		{Name: "step_includes.tpl", Type: "prepend-line", Path: "${STEPPATH}/ssh/includes", Text: sshIncludesTpl},
		{Name: "step_config.tpl", Type: "file", Path: "ssh/config", Text: sshStepConfigTpl},
		{Name: "known_hosts.tpl", Type: "file", Path: "ssh/known_hosts", Text: sshKnownHostsTpl},
	}
}

// DefaultSSHHostTemplates returns the host templates: the sshd_config
// snippet and the user CA keys file.
func DefaultSSHHostTemplates() []SSHTemplate {
	return []SSHTemplate{
		{Name: "sshd_config.tpl", Type: "snippet", Path: "/etc/ssh/sshd_config", Requires: []string{"Certificate", "Key"}, Text: sshdConfigTpl},
		{Name: "ca.tpl", Type: "snippet", Path: "/etc/ssh/ca.pub", Text: sshCATpl},
	}
}

const sshConfigTpl = `Host *
{{- if or .User.GOOS "none" | eq "windows" }}
{{- if .User.StepBasePath }}
	Include "{{ .User.StepBasePath | replace "\\" "/" | trimPrefix "C:" }}/ssh/includes"
{{- else }}
	Include "{{ .User.StepPath | replace "\\" "/" | trimPrefix "C:" }}/ssh/includes"
{{- end }}
{{- else }}
{{- if .User.StepBasePath }}
	Include "{{.User.StepBasePath}}/ssh/includes"
{{- else }}
	Include "{{.User.StepPath}}/ssh/includes"
{{- end }}
{{- end }}
`

const sshIncludesTpl = `{{- if or .User.GOOS "none" | eq "windows" }}Include "{{ .User.StepPath | replace "\\" "/" | trimPrefix "C:" }}/ssh/config"{{- else }}Include "{{.User.StepPath}}/ssh/config"{{- end }}
`

const sshStepConfigTpl = `Match exec "step ssh check-host{{- if .User.Context }} --context {{ .User.Context }}{{- end }} %h"
{{- if .User.User }}
	User {{.User.User}}
{{- end }}
{{- if or .User.GOOS "none" | eq "windows" }}
	UserKnownHostsFile "{{.User.StepPath}}\ssh\known_hosts"
	ProxyCommand C:\Windows\System32\cmd.exe /c step ssh proxycommand{{- if .User.Context }} --context {{ .User.Context }}{{- end }}{{- if .User.Provisioner }} --provisioner {{ .User.Provisioner }}{{- end }} %r %h %p
{{- else }}
	UserKnownHostsFile "{{.User.StepPath}}/ssh/known_hosts"
	ProxyCommand step ssh proxycommand{{- if .User.Context }} --context {{ .User.Context }}{{- end }}{{- if .User.Provisioner }} --provisioner {{ .User.Provisioner }}{{- end }} %r %h %p
{{- end }}
`

const sshKnownHostsTpl = `@cert-authority * {{.Step.SSH.HostKey.Type}} {{.Step.SSH.HostKey.Marshal | toString | b64enc}}
{{- range .Step.SSH.HostFederatedKeys}}
@cert-authority * {{.Type}} {{.Marshal | toString | b64enc}}
{{- end }}
`

const sshdConfigTpl = `Match all
	TrustedUserCAKeys /etc/ssh/ca.pub
	HostCertificate /etc/ssh/{{.User.Certificate}}
	HostKey /etc/ssh/{{.User.Key}}`

const sshCATpl = `{{.Step.SSH.UserKey.Type}} {{.Step.SSH.UserKey.Marshal | toString | b64enc}}
{{- range .Step.SSH.UserFederatedKeys}}
{{.Type}} {{.Marshal | toString | b64enc}}
{{- end }}
`
