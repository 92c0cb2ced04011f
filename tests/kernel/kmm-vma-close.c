// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * kmm-vma-close.c - a bit-rot fix for tools/testing/vma in Debian's 6.12
 * source: the stable backport of "mm: unconditionally close VMAs on error"
 * made mm/vma.c call vma_close() (mm/internal.h) without giving the test
 * harness's vma_internal.h a copy, so vma.o does not link.  This is
 * mm/internal.h's vma_close(), built with the harness's headers.
 * scripts/kernel-tests.sh copies it into tools/testing/vma/ and links it
 * only when vma_internal.h lacks vma_close().
 */
#include "vma_internal.h"

void vma_close(struct vm_area_struct *vma);

void vma_close(struct vm_area_struct *vma)
{
	if (vma->vm_ops && vma->vm_ops->close) {
		vma->vm_ops->close(vma);
		/* The mapping is in an inconsistent state, and no further
		 * hooks may be invoked upon it. */
		vma->vm_ops = &vma_dummy_vm_ops;
	}
}
