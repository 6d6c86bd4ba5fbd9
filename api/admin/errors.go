package admin

import (
	"net/http"

	"github.com/mayfly-pki/mayfly/api/render"
	"github.com/mayfly-pki/mayfly/internal/errs"
)

// Error is step-ca's admin API error body: type and detail per status, and
// message, which step prints. Mayfly adds status. The message is the
// error's safe detail; causes only go to the log.
type Error struct {
	Type    string `json:"type"`
	Detail  string `json:"detail"`
	Message string `json:"message"`
	Status  int    `json:"status"`
}

var adminTypes = map[int][2]string{
	http.StatusBadRequest:          {"badRequest", "The request could not be completed"},
	http.StatusUnauthorized:        {"unauthorized", "The request lacked necessary authorization to be completed"},
	http.StatusForbidden:           {"unauthorized", "The request lacked necessary authorization to be completed"},
	http.StatusNotFound:            {"notFound", "resource not found"},
	http.StatusConflict:            {"badRequest", "The request could not be completed"},
	http.StatusNotImplemented:      {"notImplemented", "not implemented"},
	http.StatusInternalServerError: {"internalServerError", "The request could not be completed"},
}

// WriteError writes err as step-ca's admin error and returns the status.
func WriteError(w http.ResponseWriter, err error) int {
	status := render.Status(err)
	if status == 0 {
		status = http.StatusInternalServerError
	}
	t, ok := adminTypes[status]
	if !ok {
		t = adminTypes[http.StatusInternalServerError]
	}
	msg := t[1]
	if e := errs.As(err); e != nil && e.Detail != "" && status != http.StatusInternalServerError {
		msg = e.Detail
	}
	render.JSON(w, status, Error{Type: t[0], Detail: t[1], Message: msg, Status: status})
	return status
}
