#ifndef LAMINA_CHDF5_SHIM_H
#define LAMINA_CHDF5_SHIM_H
#include <hdf5.h>
/* HDF5 exposes these as macros over global ids, which Swift cannot import: wrap them. */
static inline hid_t lamina_h5t_native_float(void) { return H5T_NATIVE_FLOAT; }
static inline hid_t lamina_h5t_native_double(void) { return H5T_NATIVE_DOUBLE; }
static inline hid_t lamina_h5t_native_int32(void) { return H5T_NATIVE_INT32; }
static inline hid_t lamina_h5t_native_int64(void) { return H5T_NATIVE_INT64; }
static inline hid_t lamina_h5p_default(void) { return H5P_DEFAULT; }
static inline hid_t lamina_h5s_all(void) { return H5S_ALL; }
static inline unsigned lamina_h5f_acc_rdonly(void) { return H5F_ACC_RDONLY; }
static inline unsigned lamina_h5f_acc_trunc(void) { return H5F_ACC_TRUNC; }
static inline hid_t lamina_h5e_default(void) { return H5E_DEFAULT; }
static inline H5S_seloper_t lamina_h5s_select_set(void) { return H5S_SELECT_SET; }
/* Silence HDF5's own error-stack printing; Lamina reports errors through lamina_last_error(). */
static inline void lamina_h5_silence_errors(void) { H5Eset_auto2(H5E_DEFAULT, NULL, NULL); }
/* Activation store (Sources/LaminaCore/IO/Store): creation flags, property-list classes and the
 * 16-bit float file types h5py writes (float16: IEEE half; bfloat16: exponent bias 127). The caller
 * closes a returned type with H5Tclose. */
static inline unsigned lamina_h5f_acc_excl(void) { return H5F_ACC_EXCL; }
static inline hid_t lamina_h5p_dataset_create(void) { return H5P_DATASET_CREATE; }
static inline hid_t lamina_h5p_dataset_access(void) { return H5P_DATASET_ACCESS; }
static inline hid_t lamina_h5t_ieee_f32le(void) { return H5T_IEEE_F32LE; }
static inline hid_t lamina_h5t_float16_le(void) {
    hid_t t = H5Tcopy(H5T_IEEE_F32LE);
    if (t < 0) return t;
    if (H5Tset_fields(t, 15, 10, 5, 0, 10) < 0 || H5Tset_size(t, 2) < 0 || H5Tset_ebias(t, 15) < 0) { H5Tclose(t); return -1; }
    return t;
}
static inline hid_t lamina_h5t_bfloat16_le(void) {
    hid_t t = H5Tcopy(H5T_IEEE_F32LE);
    if (t < 0) return t;
    if (H5Tset_fields(t, 15, 7, 8, 0, 7) < 0 || H5Tset_size(t, 2) < 0 || H5Tset_ebias(t, 127) < 0) { H5Tclose(t); return -1; }
    return t;
}
/* Per-rank row reads (SAE/SAEData.swift): unions of row hyperslabs, and a file-access list whose data
 * sieve is off so that only the selected rows are read from a contiguous dataset. */
static inline H5S_seloper_t lamina_h5s_select_or(void) { return H5S_SELECT_OR; }
static inline hid_t lamina_h5p_file_access(void) { return H5P_FILE_ACCESS; }
#endif
