package acme

import (
	"context"

	"github.com/go-chi/chi/v5"

	"github.com/mayfly-pki/mayfly/authority/store"
)

type acmeTx = store.ACMETx

func urlParam(q *request, name string) string { return chi.URLParam(q.r, name) }

type contextT = context.Context
