#!/bin/sh
# The shared library exports the kernel's names and kmm_* only: every
# defined dynamic symbol must be one of the public API's.
# A sanitizer build exports the sanitizers' interceptors too: skip.
[ "${KMM_SANITIZE:-no}" = yes ] && { echo "exports: sanitizer build, skipped"; exit 77; }
lib=${KMM_TOP_BUILDDIR:-.}/.libs/libkmm.so
[ -f "$lib" ] || { echo "exports: $lib not built"; exit 1; }
bad=$(nm -D --defined-only "$lib" | awk '{print $3}' | grep -v -E \
  '^(kmm_[a-z_]+|alloc_pages?|__free_pages?|__get_free_pages?|get_zeroed_page|free_pages?|alloc_pages_exact|free_pages_exact|drain_all_pages|NODE_DATA|page_address|virt_to_page|virt_to_head_page|virt_addr_valid|page_to_pfn|pfn_to_page|pfn_valid|virt_to_phys|phys_to_virt|page_to_phys|page_zone|page_zonenum|get_page|put_page|page_count|set_page_count|Page[A-Za-z]+|compound_head|compound_order|compound_nr|page_size|nr_free_pages|totalram_pages|totalhigh_pages|show_mem|kmem_cache_[a-z_]+|k[mvz]?alloc[a-z_]*|kcalloc|kvcalloc|kvmalloc|kvmalloc_node|kvzalloc|kmalloc_array|k[v]?realloc|kv?free|kfree_sensitive|ksize|kmalloc_size_roundup|kstrn?dup|kmemdup|v[mz]alloc[a-z_0-9]*|__vmalloc|__vmalloc_node|__vmalloc_node_range|vrealloc|vfree|vmap|vunmap|vmalloc_to_page|vmalloc_to_pfn|is_vmalloc_addr|find_vm_area|get_vm_area_size|vm_unmap_aliases|kmap[a-z_]*|kunmap[a-z_]*)$')
if [ -n "$bad" ]; then
	echo "exports: symbols outside the public API:"
	echo "$bad"
	exit 1
fi
echo "exports: $(nm -D --defined-only "$lib" | wc -l) symbols, all public"
