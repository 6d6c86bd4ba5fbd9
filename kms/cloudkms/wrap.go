package cloudkms

import "google.golang.org/protobuf/types/known/wrapperspb"

func wrapInt(v uint32) *wrapperspb.Int64Value { return wrapperspb.Int64(int64(v)) }
