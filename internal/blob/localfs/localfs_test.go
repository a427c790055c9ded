package localfs_test

import (
	"testing"

	"github.com/onrecord/onrecord/internal/blob"
	"github.com/onrecord/onrecord/internal/blob/blobtest"
	"github.com/onrecord/onrecord/internal/blob/localfs"
)

func TestLocalFS_Conformance(t *testing.T) {
	blobtest.Run(t, func(t *testing.T) blob.Store {
		s, err := localfs.Open(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}
