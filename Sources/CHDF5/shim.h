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
#endif
