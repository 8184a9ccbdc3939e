// Package source mirrors image-automation-controller's TemplateData.
package source

import (
	"oracle/types"
	"oracle/update"
)

// TemplateData mirrors the Flux type.
type TemplateData struct {
	AutomationObject types.NamespacedName
	Changed          update.Result
	Values           map[string]string
}
